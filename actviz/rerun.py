"""A run re-created from its record: its metrics.json (settings, results, versions, machine) and the run.json
beside its checkpoints (the dataset's checksums) are read, the dataset file is verified against them, the run is
trained again in a scratch folder, and the two records are compared: identical to the last bit, or what differs
in the results and what differs between the records that could explain it (CPU kind, package versions,
settings)."""

from dataclasses import fields
from pathlib import Path

from actviz.errors import UserError, load_json
from actviz.formats import read_info
from actviz.runs import machine, package_versions
from actviz.settings import TrainSettings

# What a rerun must reproduce: the final numbers, the curves and every layer statistic over training.
COMPARED = ("final_step", "diverged_at_step", "train_loss", "train_accuracy", "validation_loss",
            "validation_accuracy", "validation_correct", "test_loss", "test_accuracy", "final_evaluation",
            "evaluations", "training")


def read_record(run_dir):
    """(metrics, run.json, the project folder) of the run whose metrics.json is in ``run_dir``."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise UserError(f"{run_dir}: no metrics.json here: give a run's folder, e.g. "
                        f"results/runs/FashionMNIST-sample/cnn/snn/relu/seed0")
    metrics = load_json(metrics_path)
    project = next((p.parent for p in run_dir.resolve().parents if p.name == "results"), None)
    if project is None or not metrics.get("checkpoint"):
        raise UserError(f"{run_dir}: not inside a results/ folder with its checkpoints; cannot find its run.json")
    run_json = project / Path(metrics["checkpoint"]).parent / "run.json"
    if not run_json.is_file():
        raise UserError(f"{run_json}: missing: the run's checkpoint record (the dataset's checksums) is gone")
    return metrics, load_json(run_json), project


def verified_dataset(run, path):
    """``path`` if its dataset is the one the run was trained on (name and checksums), else a UserError."""
    info = read_info(path)
    if info["name"] != run["dataset"] or info["checksums"] != run["checksums"]:
        changed = sorted(k for k in set(info["checksums"]) | set(run["checksums"])
                         if info["checksums"].get(k) != run["checksums"].get(k))
        raise UserError(f"{path}: the dataset's checksums changed since the run was trained "
                        f"({', '.join(changed) or 'its name'}): not the data it was trained on")
    return path


def settings_of(metrics):
    """The run's TrainSettings from its record; settings the record lacks take their defaults (named)."""
    recorded = metrics["settings"]
    names = {spec.name for spec in fields(TrainSettings)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items() if k in names}
    return TrainSettings(**values), sorted(names - set(recorded))


def differences(old, new, keys=COMPARED):
    """The keys of ``keys`` whose values differ between two metrics records."""
    return [key for key in keys if old.get(key) != new.get(key)]


def record_differences(old, now_versions=None, now_machine=None, defaulted=()):
    """What differs between the record's conditions and this process's: ["versions: tensorflow 2.20.0 -> 2.21.0",
    "machine: model 207 -> 167", "settings: ... not recorded, default used"]."""
    now_versions = now_versions or package_versions()
    now_machine = now_machine or machine()
    found = []
    for name, was, now in (("versions", old.get("versions") or {}, now_versions),
                           ("machine", old.get("machine") or {}, now_machine)):
        if not was:
            found.append(f"{name}: not recorded (a run from before they were)")
            continue
        changed = [f"{k} {was.get(k)} -> {now.get(k)}" for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
        if changed:
            found.append(f"{name}: " + ", ".join(changed))
    if defaulted:
        found.append(f"settings: {', '.join(defaulted)} not recorded, the defaults used")
    return found


def layer_table_differences(old_csv, new_csv):
    """Whether the run's training_stats.csv and the rerun's differ (byte for byte): a list of at most one line."""
    old_csv = Path(old_csv)
    if not old_csv.is_file():
        return ["training_stats.csv: not beside the record, not compared"]
    return [] if old_csv.read_bytes() == Path(new_csv).read_bytes() else ["training_stats.csv"]


def rerun(run_dir, scratch, dataset=None, threads=1, progress=False, log=print):
    """Train the run of ``run_dir`` again in ``scratch`` and compare. Returns {"identical": bool, "differs": [what
    differs in the results], "conditions": [what differs between the records], "metrics": the rerun's}."""
    from actviz.training import train

    metrics, run, project = read_record(run_dir)
    h5 = verified_dataset(run, dataset or project / "results" / "data" / f"{metrics['dataset']}.h5")
    settings, defaulted = settings_of(metrics)
    scratch = Path(scratch)
    log(f"{metrics['run']}: retraining {settings.steps} steps in {scratch} from {h5} (checksums verified)")
    new = train(h5, metrics["activation"], settings, scratch / "checkpoints", scratch / "logs",
                scratch / "metrics.json", scratch / "training_stats.csv", scratch / "training_histograms.csv",
                threads=threads, progress=progress, log=log, trial=metrics.get("trial"))
    differs = differences(metrics, new) + layer_table_differences(Path(run_dir) / "training_stats.csv",
                                                                  scratch / "training_stats.csv")
    return {"identical": not differs, "differs": differs,
            "conditions": record_differences(metrics, new["versions"], new["machine"], defaulted), "metrics": new}
