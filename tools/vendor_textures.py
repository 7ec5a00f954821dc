"""``python -m tools.vendor_textures``: write the photo textures the synthetic pets renderer uses.

Reads scikit-image's sample data (``pip install scikit-image``; the photos
are CC0 or public domain, see ``cvlab_ch9/data/textures/README.md``), shrinks
each image so its shorter side is :data:`SHORT_SIDE` pixels and saves it as
a JPEG in ``cvlab_ch9/data/textures/``. The files are committed, so the renderer
never needs scikit-image. Chelsea the cat and the camera and motorcycle
photos are left out on purpose: ``python -m cvlab_ch9.models real-photos``
measures the demo models on them.
"""

import sys

from PIL import Image

from cvlab_ch9.data.textures import TEXTURE_FILES, TEXTURES_DIR

SHORT_SIDE = 256
JPEG_QUALITY = 88


def vendor(out_dir=TEXTURES_DIR):
    """Write every file of TEXTURE_FILES (name -> scikit-image data function) into ``out_dir``."""
    from skimage import data  # noqa: PLC0415 - a development dependency only

    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, function in TEXTURE_FILES.items():
        image = Image.fromarray(getattr(data, function)())
        scale = SHORT_SIDE / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        image.save(out_dir / file_name, "JPEG", quality=JPEG_QUALITY)
        print(f"{out_dir / file_name}: {image.width}x{image.height} from skimage.data.{function}()")


if __name__ == "__main__":
    vendor()
    sys.exit(0)
