"""Neural style transfer, CNN features and super-resolution (topics 02 and 03).

Modules (import them explicitly, e.g. ``from course_lib.style.adain import AdaINNet``)::

    vgg              VGG-19/16 with named layers, ImageNet weights or an offline seeded fallback
    gatys            feature inversion (Mahendran & Vedaldi) and Gatys et al.'s optimisation
    transformer_net  Johnson et al.'s image transformation network (instance norm)
    fast             training it with perceptual losses (one style, or N styles with CIN)
    cin              conditional instance normalisation (Dumoulin et al.)
    adain            adaptive instance normalisation, encoder/decoder, training (Huang & Belongie)
    superres         SRResNet, the SRGAN discriminator, pixel/perceptual/adversarial training
    patterns         procedurally generated painterly style images
    images           named style images, the student's own images (path, or URL in full mode)
    recipes          the command-line recipes (``python -m course_lib.train fast_style ...``)
"""

from course_lib.style.vgg import (
    VGGFeatures,
    cached_weights_path,
    check_weights_file,
    download_weights,
    layer_names,
)

__all__ = ["VGGFeatures", "cached_weights_path", "check_weights_file", "download_weights", "layer_names"]
