"""Data for the course: bundled photos, procedural datasets, folder loaders and safe downloads.

Value ranges: photo loaders return [0, 1]; folder loaders and the GAN-oriented procedural
datasets return [-1, 1]. Each function's docstring says which.
"""

from course_lib.data.download import (
    REGISTRY,
    DatasetSpec,
    cache_dir,
    download,
    safe_extract,
    try_download,
    verify_sha256,
)
from course_lib.data.folders import (
    ImageFolder,
    PairedFolder,
    UnpairedFolder,
    labels_to_photo,
    list_images,
    read_image,
)
from course_lib.data.photos import (
    PHOTOS,
    TEXTURES,
    PhotoCrops,
    center_crop_resize,
    load_faces,
    load_logo,
    load_photo,
    load_texture,
    random_photo_crop,
)
from course_lib.data.procedural import Blobs, ProceduralDataset, SmoothFieldHoles, soft_disk

__all__ = [
    "REGISTRY", "DatasetSpec", "cache_dir", "download", "safe_extract", "try_download", "verify_sha256",
    "ImageFolder", "PairedFolder", "UnpairedFolder", "labels_to_photo", "list_images", "read_image",
    "PHOTOS", "TEXTURES", "PhotoCrops", "center_crop_resize", "load_faces", "load_logo",
    "load_photo", "load_texture", "random_photo_crop", "Blobs", "ProceduralDataset", "SmoothFieldHoles", "soft_disk",
]

# Paired data for pix2pix / pix2pixHD (lectures 04 and 05)
from course_lib.data.paired import (  # noqa: E402
    EdgesToShapes,
    GreyToColour,
    InMemory,
    LabelInstanceFolder,
    ProceduralFacades,
    StreetScenes,
    label_colours,
)

__all__ += ["EdgesToShapes", "GreyToColour", "InMemory", "LabelInstanceFolder", "ProceduralFacades",
            "StreetScenes", "label_colours"]

# Unpaired procedural domains (topics 06-07: CycleGAN, MUNIT).
from course_lib.data.unpaired import SeasonScenes, ShapesToTextures  # noqa: E402

__all__ += ["SeasonScenes", "ShapesToTextures"]
