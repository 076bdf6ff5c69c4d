"""grade: auto-graded exercises for a course on convolutional neural networks."""

__version__ = "0.1.0"
