"""`malade eval`: accuracy of one defence under one attack on a seeded test slice."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..atomic import refuse_overwrite
from .classifier_options import source_option_list
from .common import TerseCommand, command_line, one_line_errors
from .options import (
    DataOptions,
    attack_options,
    chain_options,
    data_options,
    defense_options,
    option_group,
    preset_option,
    run_options,
)


@click.command("eval", cls=TerseCommand)
@data_options(val_size=False)
@preset_option
@defense_options
@option_group(source_option_list(with_classifier=False))
@chain_options(parse=False)
@attack_options
@click.option("--holdout", default=150, show_default=True, type=click.IntRange(0),
              help="Test images kept out of the evaluation (the black-box attacker's seed set).")
@click.option("--n", default=1000, show_default=True, type=click.IntRange(1), help="Test images evaluated.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1))
@run_options("Result JSON to write (a .md row is written beside it).",
             seed_help="Seeds the test slice, attack and defence noise.", parse=False)
@click.option("--force", is_flag=True, help="Overwrite an existing --out result (kept by default).")
@one_line_errors
def eval_cmd(data: DataOptions, force: bool, **params: Any) -> None:
    """Accuracy (95% Wilson interval) of a defence, clean and under an attack.

    \b
    Example:  malade eval --classifier clf.safetensors --defense malade --sdae sdae.safetensors \\
                  --attack fgsm --eps 0.3 --n 1000 --seed 0 --out results/malade_fgsm.json
    """
    from ..eval import Accuracy, write_result
    from ..eval.pipeline import EvalConfig, run_eval
    from ..eval.report import markdown_row

    if params["out"]:
        refuse_overwrite([Path(params["out"]), Path(params["out"]).with_suffix(".md")], force)
    config = EvalConfig.from_params({**params, "dataset": data.dataset, "data_dir": data.data_dir,
                                     "image_size": data.image_size, "skip_bad_images": data.skip_bad_images,
                                     "test_fraction": data.test_fraction}, command_line())
    record = run_eval(config)
    clean, attacked = (Accuracy(r["correct"], r["n"]) if r else None for r in (record["clean"], record["attacked"]))
    click.echo(f"{config.defense.name} / {config.attack}: clean {clean}"
               + (f", attacked {attacked}" if attacked else ""))
    if params["out"]:
        json_path, md_path = write_result(record, params["out"])
        click.echo(f"wrote {json_path} and {md_path}")
    else:
        click.echo(markdown_row(record))

