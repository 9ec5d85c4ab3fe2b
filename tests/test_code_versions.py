"""Code versions come from the code: the UI's "code changed" and stale markers are true, and a
change to training code retrains the candidates once under declarative automation (evaluated
through Dagster's own API, ``evaluate_automation_conditions``)."""

import dagster as dg

from mlops_assets.core.code_version import source_version
from mlops_assets.core.training.provenance import training_code_version


def test_a_code_version_changes_when_and_only_when_its_source_changes(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = source_version([a, b])
    assert source_version([a, b]) == before
    b.write_text("y = 3\n")
    assert source_version([a, b]) != before


def test_every_asset_carries_a_code_version_derived_from_its_code():
    from mlops_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    versions = {
        key.to_user_string(): graph.get(key).code_version
        for key in graph.get_all_asset_keys()
        if not graph.get(key).is_external
    }
    python_assets = {k: v for k, v in versions.items() if "/" not in k or k.startswith("raw/")}
    assert python_assets and all(v and len(v) == 12 for v in python_assets.values())
    assert versions["lightgbm_candidate"] != versions["training_set"]
    assert len(training_code_version()) == 12


def _changed_training_code(defs: dg.Definitions) -> dg.Definitions:
    from mlops_assets.assets.training import CANDIDATES

    candidates = {c.key for c in CANDIDATES}
    assets = [
        a.map_asset_specs(lambda spec: spec.replace_attributes(code_version="edited"))
        if isinstance(a, dg.AssetsDefinition) and a.keys & candidates
        else a
        for a in defs.assets
    ]
    return dg.Definitions.merge(
        dg.Definitions(assets=assets),
        dg.Definitions(asset_checks=defs.asset_checks, resources=defs.resources),
    )


def test_changed_training_code_retrains_the_candidates_once_and_the_gate_follows():
    from mlops_assets.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    for key in ("training_set", "lightgbm_candidate", "model_evaluation", "production_model"):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    target = dg.AssetSelection.groups("training") | dg.AssetSelection.assets("bento")
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=target)
    assert first.total_requested == 0  # the code is what was materialized: nothing to do
    edited = _changed_training_code(defs)
    changed = dg.evaluate_automation_conditions(
        defs=edited, instance=instance, asset_selection=target, cursor=first.cursor
    )
    requested = {r.key.to_user_string() for r in changed.results if r.true_subset.size}
    assert {"lightgbm_candidate", "model_evaluation", "production_model"} <= requested
    assert "training_set" not in requested  # retrained on the training set it had
    again = dg.evaluate_automation_conditions(
        defs=edited, instance=instance, asset_selection=target, cursor=changed.cursor
    )
    assert again.total_requested == 0  # once
