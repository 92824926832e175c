"""reconciler — a declarative plan/apply reconciler for LoRA fine-tuning resources."""

__version__ = "0.1.0"

__all__ = ["__version__"]
