"""Tests of the dataset (NYC flights 2013): facts about its raw files, its dbt models and its
features. A fork replaces this folder with its own, as it replaces dbt_project/models."""

# The model lab's training budget (tests/model_lab.py): two months of ~27,000 flights are plenty
# and keep the suite quick. Without this line a lab learns from DATA_SIZE['retrain_months'].
LAB_TRAIN_MONTHS = 2
