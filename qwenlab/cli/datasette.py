"""`qwenlab datasette`: the log in Datasette on loopback, with thumbnails and canned queries."""

from __future__ import annotations

import click

from ..store.datasette_config import ThumbnailsPlugin, write_metadata
from .common import existing_log

__all__ = ["datasette_command"]

_INSTALL_HINT = "Datasette is not installed: pip install 'qwenlab[datasette]' (datasette and datasette-render-images)"


@click.command("datasette")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--metadata-only", is_flag=True, help="Write the metadata file and print its path; serve nothing.")
def datasette_command(port: int, metadata_only: bool) -> None:
    """Browse the log in Datasette on 127.0.0.1, with image thumbnails, canned queries and facets.

    qwenlab writes <data>/datasette/metadata.json (canned queries: cost by experiment,
    best-rated images, images of an experiment, prompt search; facets on status, backend, model,
    promptExtend) and serves the log with it until Ctrl-C. Thumbnails come from qwenlab's
    thumbnail cache through the SQL function qwenlab_thumbnail(path), shown by
    datasette-render-images. It listens on loopback only.
    """
    path = existing_log()
    metadata = write_metadata(path.parent)
    if metadata_only:
        click.echo(str(metadata))
        return
    try:
        from datasette.cli import cli as datasette_cli
        from datasette.plugins import pm
    except ImportError:
        raise click.ClickException(_INSTALL_HINT) from None
    # 0: a free port chosen here, so that the address said is the one served (uvicorn's own choice
    # was never said: "http://127.0.0.1:0/")
    port = _check_free(port)
    if pm.get_plugin("qwenlab-thumbnails") is None:
        pm.register(ThumbnailsPlugin(path.parent), name="qwenlab-thumbnails")
    click.echo(f"serving {path} on http://127.0.0.1:{port}/ (Ctrl-C to stop)", err=True)
    datasette_cli.main(["serve", str(path), "--metadata", str(metadata), "--host", "127.0.0.1", "--port", str(port)],
                       prog_name="datasette", standalone_mode=True)


def _check_free(port: int) -> int:
    """The port to serve on: `port` once found free (a port in use is refused before Datasette
    starts: uvicorn then exits 3, outside qwenlab's codes), or a free one for 0."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); try another --port") from None
        return int(probe.getsockname()[1])
