"""One configuration style for both training commands.

:class:`TrainingConfig` holds what every training run of the lab needs (the
model's input size, the Adam/RMSprop schedule, the synthetic data set and
its split, the seed); ``ClassifierConfig`` (``python -m cvlab_ch9.models
train``) and ``SegmentationConfig`` (``python -m cvlab_ch9.train_segmentation``)
add their own fields. A configuration is recorded in its model's metadata
(:meth:`TrainingConfig.as_json`) with the command that reproduces it
(:meth:`TrainingConfig.command`).

Both commands train on the synthetic pets by default and on Oxford-IIIT
Pets with ``--data oxford`` (``data``); each has its own defaults for
each kind of data.
"""

import dataclasses

from cvlab_ch9.data.oxford import DATA_KEYWORD


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Everything that determines a trained demo model.

    Attributes:
        img_size: (height, width) the model takes.
        filters: filters per stage (what a stage is depends on the model).
        epochs, batch_size, learning_rate: the training schedule.
        n_images, data_image_size, data_seed: parameters of
            ``cvlab_ch9.data.ensure_synthetic_pets`` for the training set; with
            ``data``, at most ``n_images`` photos (0 = all), a random choice
            seeded by ``data_seed`` (``data_image_size`` is unused).
        val_fraction, split_seed: ``cvlab_ch9.data.split_indices`` parameters.
        seed: ``keras.utils.set_random_seed`` seed (weights, shuffling, augmentation).
        data: "" for the synthetic pets, else "oxford" (the set ``python -m
            cvlab_ch9.data download`` installs) or an Oxford-IIIT Pets folder.
        data_style: the synthetic pets' drawing style, "photo" (photo
            backgrounds, close-ups, camera effects) or "cartoon" (flat
            cartoon pets, generator version 1); unused with ``data``.
    """

    #: (field, command-line option) pairs the training command accepts.
    OPTIONS = ()

    img_size: tuple = (64, 64)
    filters: tuple = ()
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    n_images: int = 800
    data_image_size: tuple = (128, 128)
    data_seed: int = 0
    val_fraction: float = 0.2
    split_seed: int = 1337
    seed: int = 0
    data: str = ""
    data_style: str = "photo"

    def as_json(self):
        """The fields as a JSON-ready dict (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    def program(self):
        """The command that trains this kind of model with its defaults (each subclass names its own)."""
        raise NotImplementedError(f"{type(self).__name__} names no training command")

    def command(self, default=None):
        """The shell command that reproduces this configuration, given the command's ``default`` one.

        ``--data`` comes first when set (it selects the command's defaults,
        so ``default`` should be the one for the same data); then the fields
        the command line can set (``OPTIONS``) where they differ from
        ``default`` (all of them without one).
        """
        parts = [self.program()]
        if self.data:
            parts.append(f"--data {self.data}")
        for field, option in self.OPTIONS:
            value = getattr(self, field)
            if default is None or value != getattr(default, field):
                parts.append(f"{option} {_argument(value)}")
        return " ".join(parts)

    def trained_on(self, n_train):
        """What a model trained with this configuration has seen, in words (the UI shows it)."""
        if not self.data:
            if self.data_style == "cartoon":
                return f"synthetic cartoon pets (cvlab_ch9.data, {n_train} training images)"
            return f"synthetic cartoon pets on photo backgrounds, many close-up (cvlab_ch9.data photo style, {n_train} training images)"
        where = "" if self.data == DATA_KEYWORD else f" from {self.data}"
        return f"Oxford-IIIT Pets photos ({n_train} training images{where})"


def _argument(value):
    return " ".join(str(v) for v in value) if isinstance(value, (tuple, list)) else str(value)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
