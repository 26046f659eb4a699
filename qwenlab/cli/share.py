"""`qwenlab images`, `qwenlab bundle`, `qwenlab import`: images and experiments to hand to someone."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import click

from ..errors import ExperimentNotFoundError, ImageError, NotABundleError, UnknownAxisError
from ..paths import data_dir, db_path
from ..store.bundle import check_bundle, import_bundle, write_bundle
from ..store.experiment import open_experiment
from ..store.image_export import export_images
from ..store.log import Log
from ..typography.store import renew_stale_scores
from .common import existing_log, layout, log_path, output_path, remove_new_log
from .exits import param_hints

__all__ = ["images_command", "bundle_command", "import_command"]


@param_hints({ExperimentNotFoundError: "EXPERIMENT", UnknownAxisError: "--where"})
@click.command("images")
@click.argument("experiment")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), callback=output_path,
              help="Folder to write the images into.")
@click.option("--min-rating", type=click.FloatRange(1, 5), default=None,
              help="Only images whose latest rating is at least this (1-5).")
@click.option("--where", "where", multiple=True, metavar="AXIS=VALUE",
              help="Keep only this value of an axis (repeatable; a label works: --where promptExtend=on).")
@click.option("--no-sidecar", is_flag=True, help="Do not write a .json file beside each image.")
def images_command(experiment: str, output: str, min_rating: float | None, where: tuple[str, ...], no_sidecar: bool) -> None:
    """Copy EXPERIMENT's images into a folder, each carrying its settings: qwenlab images NAME -o DIR.

    File names say the experiment, the values that vary and the seed. Inside each file (JPEG:
    Exif, XMP and a comment; PNG: iTXt "parameters" as AUTOMATIC1111 writes it; WebP: EXIF and
    XMP) and in a JSON sidecar: the prompt, the exact request (no key), the seed, the cost, where
    it ran (emulator images are marked SYNTHETIC), text scores and ratings. The pixels are the
    original file's: only metadata is added.
    """
    exp = open_experiment(experiment)
    renew_stale_scores(exp.log, exp.id)  # the scores written into each file are this version's
    _, filters = layout((), where)
    new_folder = not Path(output).exists()
    with warnings.catch_warnings():  # the note of what was skipped is said below, as an error
        warnings.filterwarnings("ignore", message=r".*image files? (was|were) not written")
        warnings.filterwarnings("ignore", message=r"no image of .* has a latest rating")  # said below, in its own words
        written = export_images(exp, output, min_rating=min_rating, where=filters or None, sidecar=not no_sidecar)
    for item in written:
        click.echo(str(item.path))
    click.echo(f"{len(written)} {'image' if len(written) == 1 else 'images'} written to {output}", err=True)
    if written.removed:  # a file gone from the folder is said, not done in silence
        click.echo(written.removed_note(), err=True)
    if not written and not written.skipped:
        if new_folder:  # nothing to hand over: no empty folder left behind either
            with contextlib.suppress(OSError):
                Path(output).rmdir()
        if min_rating is not None:  # "0 images" alone read as a fault; ratings are made in a notebook
            click.echo(f"no image of {experiment!r} has a latest rating of {min_rating:g} or more: rate them in a "
                       f"notebook (Lab().experiment({experiment!r}).explore()), or lower or leave out --min-rating",
                       err=True)
    if written.skipped:
        raise ImageError(written.skipped_note())  # exit 1: some of the images asked for are not there


@param_hints({ExperimentNotFoundError: "EXPERIMENTS"})
@click.command("bundle")
@click.argument("experiments", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), callback=output_path,
              help="The bundle file to write (.zip).")
def bundle_command(experiments: tuple[str, ...], output: str) -> None:
    """Pack EXPERIMENTS (rows and images) into one file to share: qwenlab bundle NAME -o FILE.

    The file is a zip holding a qwenlab log of those experiments only and their images by hash;
    `qwenlab import FILE` merges it into another log.
    """
    path = existing_log()
    click.echo(str(write_bundle(Log(path), path.parent, experiments, output)))


@param_hints({NotABundleError: "BUNDLE"})
@click.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "as_name", default=None, metavar="NEWNAME",
              help="Import the bundle's experiment under this name (a bundle of one experiment). One in this log "
                   "already keeps its name: the report says so, and the rename that gives it this one.")
def import_command(bundle: str, as_name: str | None) -> None:
    """Merge the experiments of a BUNDLE file into this log; importing it twice adds nothing.

    Costs and provenance (backend, API host, qwenlab version, the prices recorded when each
    request was sent) are copied exactly. A name this log already uses for other work is refused
    (exit 2); import it under another with --as NEWNAME. A file that is no bundle is bad input
    too (exit 2); a bundle damaged on its way fails (exit 1): ask for it again.
    """
    check_bundle(bundle)  # a file that is no bundle: said before a log (or its folder) is made here
    log = log_path()
    new_folder, new_log = not log.parent.exists(), not log.exists()
    target = Log(db_path())
    try:
        report = import_bundle(target, data_dir(), Path(bundle), as_name=as_name)
    except BaseException:  # refused (a name in use, a bad --as): a log made for it goes again
        if new_log and not target.experiment_names():
            target.close()
            remove_new_log(log, new_folder)
        raise
    click.echo(str(report))
