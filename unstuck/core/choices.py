"""Text choices that import without Django: the same API as `django.db.models.TextChoices`.

For enumerations that code outside Django reads too: the bias detector and its command line
(`unstuck bias check`) run without django.setup(), and importing `django.db.models` only to
name six biases was a fifth of that command's start-up. Models and forms use these exactly
as Django's own (`Bias.choices`, `Situation.values`, `Bias.PERSONAL.label`); members are
strings, so they compare, hash, serialise and store as their value.

    class Bias(TextChoices):
        PERSONAL = "personal", "Personal"
"""

from __future__ import annotations

import enum
from typing import Any


class _ChoicesType(enum.EnumType):
    def __new__(
        metacls, classname: str, bases: tuple[type, ...], classdict: Any, **kwds: Any
    ) -> _ChoicesType:
        labels = []
        for key in classdict._member_names:
            value = classdict[key]
            if isinstance(value, (list, tuple)) and len(value) == 2:
                value, label = value
            else:
                label = key.replace("_", " ").title()
            labels.append(label)
            # Bypass _EnumDict's guard against reassigning a member name.
            dict.__setitem__(classdict, key, value)
        cls = super().__new__(metacls, classname, bases, classdict, **kwds)
        members: list[Any] = list(cls.__members__.values())
        for member, label in zip(members, labels, strict=True):
            member._label_ = label
        return cls

    def __contains__(cls, member: object) -> bool:
        if not isinstance(member, enum.Enum):
            return member in {x.value for x in cls._members()}
        return super().__contains__(member)

    @property
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls._members()]

    @property
    def values(cls) -> list[str]:
        return [m.value for m in cls._members()]

    @property
    def labels(cls) -> list[str]:
        return [m.label for m in cls._members()]

    def _members(cls) -> list[Any]:
        return list(cls.__members__.values())


class TextChoices(enum.StrEnum, metaclass=_ChoicesType):
    """A string enumeration whose members carry a label: `KEY = "value", "Label"`."""

    _label_: str
    # Templates must not call the class (an enum is callable).
    do_not_call_in_templates = enum.nonmember(True)

    @property
    def label(self) -> str:
        return self._label_

    def __repr__(self) -> str:
        return f"{self.__class__.__qualname__}.{self._name_}"
