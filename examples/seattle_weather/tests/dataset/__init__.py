"""Tests of the dataset (Seattle's daily weather 2012-2015): facts about its raw file and its
feature mart. They replace the template's flight tests, as dbt_project/models replaces theirs."""
