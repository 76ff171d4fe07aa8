"""The spec of a `tf.Variable` graph input.

A leaf module: the backend makes these specs, the lowering and the executable feed
variable inputs by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from janus.ir.spec import TensorSpec


@dataclass(frozen=True)
class VariableSpec(TensorSpec):
    """The spec of a `tf.Variable`: lowered to a resource handle input (read fresh on every
    call, written in place) rather than to a tensor."""

    variable: bool = True
    #: a gradient tape watches reads of trainable variables only
    trainable: bool = True
    #: id() of the variable seen at conversion: a hint for which inputs are one variable
    #: reached by two paths (checked on every call, so never trusted; not part of equality)
    ident: int = field(default=0, compare=False)
    #: the variable's `_unique_id` at conversion: its graph stand-in carries it, so a Keras
    #: optimizer (which finds a variable's slots by it) updates the stand-in with the slots of
    #: the variable it was built with; the executable checks each call is fed that variable
    uid: str = field(default="", compare=False)

    def relaxed(self, dims) -> VariableSpec:
        base = TensorSpec.relaxed(self, dims)
        return VariableSpec(
            base.dtype, base.shape, base.device, base.requires_grad, True, self.trainable, self.ident, self.uid
        )

    def __str__(self) -> str:
        return ("var " if self.trainable else "const var ") + TensorSpec.__str__(self)
