"""Release of the trained model: export (merge, verify), model card, Hub upload; driven by stages/deploy.py."""
