"""What ``fit`` returns: typed results the CLI prints (the manifest keeps everything else)."""

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class DecadeChoice:
    decade: str
    movies: int
    use: str                       # "decade" | "pooled"
    reason: str
    val_f1_micro_decade: Optional[float] = None
    val_f1_micro_pooled: Optional[float] = None
    warning: str = ""
    n_val: int = 0
    val_constant_f1_micro: Optional[float] = None   # the best constant answer on the same rows
    val_beats_constant: Optional[bool] = None
    val_note: str = ""                              # small-data warning, if any


@dataclass
class BalanceSide:
    minority_recall: float
    minority_recall_untuned: float
    f1_macro: float
    f1_micro: float


@dataclass
class BalanceEffect:
    minority_genres: list
    balanced: BalanceSide
    unbalanced: BalanceSide


@dataclass
class ConfigResult:
    name: str
    head: str
    features: str
    validation: dict               # metrics.summary of the pooled model on validation rows
    poster_weight: float = 1.0
    poster_weight_validation: dict = field(default_factory=dict)
    balance_effect: Optional[BalanceEffect] = None
    choices: list = field(default_factory=list)
    validation_constant: dict = field(default_factory=dict)

    @classmethod
    def from_card(cls, card):
        be = card.get("balance_effect")
        effect = BalanceEffect(be["minority_genres"], BalanceSide(**be["balanced"]),
                               BalanceSide(**be["unbalanced"])) if be else None
        choices = [DecadeChoice(d, c["movies"], c["use"], c["reason"], c.get("val_f1_micro_decade"),
                                c.get("val_f1_micro_pooled"), c.get("warning", ""), c.get("n_val", 0),
                                c.get("val_constant_f1_micro"), c.get("val_beats_constant"), c.get("val_note", ""))
                   for d, c in card["choice"].items()]
        return cls(card["name"], card["head"], card["features"], card["validation"], card.get("poster_weight", 1.0),
                   card.get("poster_weight_validation", {}), effect, choices, card.get("validation_constant", {}))


@dataclass
class FitResult:
    directory: str
    version: str                   # the version folder now current
    test_movies: int
    configs: list                  # ConfigResult of each configuration fitted by this call
    manifest: dict                 # the whole manifest (every configuration in the directory)
