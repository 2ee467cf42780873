"""Reinforcement learning on TRL: reward components (rewards), training sets (data), multi-turn environments
(environments, rollout) and the algorithm builders the rl stage uses (algorithms).
"""
