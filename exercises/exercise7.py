# This file was generated from the reference solution by `make stubs`; edit the
# parts marked TODO. Run `grade exercise7` to check your work.
"""Exercise 7: transfer learning, data augmentation and callbacks.

The lecture's dogs-vs-cats model ("Introduction to Deep Learning for Computer
Vision", listings 8.19-8.27; "Deep Learning 02", section 4): use a good model
trained on a large, related dataset (VGG16, trained on ImageNet) as a
*convolutional base* that extracts features, put a new densely connected
classifier on top, and train only the part we added. Then *fine-tune*: unfreeze
a few of the top layers of the frozen base and train them jointly with the
classifier, so that the most abstract representations adjust to the problem at
hand.

Build with ``weights=None`` while you work on the exercise (nothing is
downloaded; the grader does the same); pass ``weights="imagenet"`` to train the
real thing. The grader builds your models in a sandbox and reads their
configuration: layer types and order, which layers are trainable, trainable and
non-trainable parameter counts (compare with ``model.summary()``). It runs your
augmentation on a few test images, and reads the settings of your callbacks.
"""

import keras
from keras import layers


def build_augmentation() -> keras.Sequential:
    """The data augmentation stage of listing 8.14: random image transformations.

    A ``keras.Sequential`` of, in this order:
    - ``RandomFlip("horizontal")``: flips a random 50 % of the images left to right;
    - ``RandomRotation(0.1)``: rotates by a random fraction of a full circle in
      [-10 %, +10 %] (in degrees, [-36, +36]);
    - ``RandomZoom(0.2)``: zooms in or out by a random factor in [-20 %, +20 %].

    Like Dropout, these layers are inactive during inference (``predict()``,
    ``evaluate()``, or a call with ``training=False``): the images pass through
    unchanged. Input and output: a batch (N, H, W, 3) of pixel values 0..255.
    """
    # TODO: implement build_augmentation (see the docstring above).
    raise NotImplementedError("build_augmentation is not implemented yet")


def build_feature_extractor(input_shape: tuple = (180, 180, 3), weights: str | None = None) -> keras.Model:
    """Feature extraction together with data augmentation (listings 8.23 and 8.25).

    inputs = keras.Input(shape=input_shape) -> the augmentation of ``build_augmentation()``
    -> ``keras.applications.vgg16.preprocess_input`` -> the VGG16 convolutional base
    (``include_top=False``, ``weights=weights``), *frozen* (``conv_base.trainable = False``)
    -> Flatten -> Dense 256 -> Dropout 0.5 -> Dense 1 with a sigmoid.

    The base is used as one layer (``x = conv_base(x)``), so the model's layers are
    the input, the augmentation, the preprocessing, ``vgg16``, and the classifier.
    For (180, 180, 3) the base outputs (5, 5, 512) and has 14,714,688 parameters;
    the model has 3,277,313 trainable parameters (the classifier) and 14,714,688
    non-trainable ones (the frozen base). ``weights=None`` builds the same model
    with random weights (nothing downloaded); ``weights="imagenet"`` loads the
    ImageNet weights. Returns the uncompiled model.
    """
    # TODO: implement build_feature_extractor (see the docstring above).
    raise NotImplementedError("build_feature_extractor is not implemented yet")


def fine_tune(model: keras.Model) -> keras.Model:
    """Prepare ``model`` (from ``build_feature_extractor``) for fine-tuning (listing 8.27).

    Unfreeze the convolutional base (the layer named "vgg16": ``model.get_layer("vgg16")``),
    then freeze all of its layers but the last four, so that only ``block5_conv1``,
    ``block5_conv2``, ``block5_conv3`` and ``block5_pool`` of the base are trainable:

        conv_base.trainable = True
        for layer in conv_base.layers[:-4]:
            layer.trainable = False

    Find the base in ``model`` itself, not in a global ``conv_base``: the grader
    calls ``fine_tune`` on the lecture's frozen model, built on its own.
    Change the model in place and return it. Afterwards it has 10,356,737
    trainable parameters (the classifier and block 5) and 7,635,264 non-trainable.
    Compile it again before training (with a very low learning rate, e.g.
    ``RMSprop(learning_rate=1e-5)``): a change of ``trainable`` takes effect at compile time.
    """
    # TODO: implement fine_tune (see the docstring above).
    raise NotImplementedError("fine_tune is not implemented yet")


def make_callbacks(log_dir: str, checkpoint_path: str) -> list:
    """The callbacks for ``model.fit(..., callbacks=...)``, in this order:

    - ``EarlyStopping`` monitoring ``"val_loss"`` that restores the best weights
      (``restore_best_weights=True``): stop when the validation loss stops improving;
    - ``ModelCheckpoint(filepath=checkpoint_path, save_best_only=True, monitor="val_loss")``:
      keep the model of the best epoch only (``checkpoint_path`` ends in ".keras");
    - ``TensorBoard(log_dir=log_dir, histogram_freq=1)``: logs for TensorBoard, with
      histograms of the weights every epoch (``tensorboard --logdir`` shows them).
    """
    # TODO: implement make_callbacks (see the docstring above).
    raise NotImplementedError("make_callbacks is not implemented yet")
