"""Neural style transfer and CNN features: the VGG extractor (more in the style topic's modules)."""

from course_lib.style.vgg import VGGFeatures, cached_weights_path, download_weights, layer_names

__all__ = ["VGGFeatures", "cached_weights_path", "download_weights", "layer_names"]
