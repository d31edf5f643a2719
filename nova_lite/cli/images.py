"""``nova-lite image ...``: create an image and upload its data with a progress
bar, and list images (Image v2)."""
import os

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from nova_lite.cli import errors, parsing, resolve, session

IMAGE = resolve.Kind(name="image", service=session.IMAGE, get_path="/v2/images/{}",
                     get_key=None, list_path="/v2/images", list_key="images",
                     name_query=lambda name: {"name": name})

COLUMNS = [("ID", "id"), ("Name", "name"), ("Status", "status")]
LONG_COLUMNS = COLUMNS + [
    ("Disk Format", "disk_format"), ("Container Format", "container_format"),
    ("Size", "size"), ("Visibility", "visibility"), ("Checksum", "checksum"),
]
CHUNK = 1024 * 1024


def create_body(name, disk_format, container_format, visibility, properties):
    """The ``POST /v2/images`` body: properties are top-level keys in Glance v2."""
    body = dict(properties)
    body.update(name=name, disk_format=disk_format, container_format=container_format)
    if visibility:
        body["visibility"] = visibility
    return body


class ProgressReader:
    """A file that reports each chunk read, so a streamed upload can show
    progress; ``len()`` lets the HTTP library send a Content-Length."""

    def __init__(self, fileobj, size, advance):
        self._file = fileobj
        self._size = size
        self._advance = advance

    def __len__(self):
        return self._size

    def read(self, size=-1):
        chunk = self._file.read(CHUNK if size is None or size < 0 else size)
        self._advance(len(chunk))
        return chunk


def upload(client, out, image_id, path):
    """Stream ``path`` to ``PUT /v2/images/{id}/file`` with a progress bar."""
    size = os.path.getsize(path)
    progress = Progress(TextColumn("Uploading"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(),
                        console=out.err, transient=True,
                        disable=not out.err.is_terminal)
    with open(path, "rb") as data, progress:
        task = progress.add_task("upload", total=size)
        reader = ProgressReader(data, size,
                                lambda n: progress.update(task, advance=n))
        client.request(session.IMAGE, "PUT", f"/v2/images/{image_id}/file", data=reader,
                       headers={"Content-Type": "application/octet-stream"})
    if not out.err.is_terminal:
        out.note(f"Uploaded {size} bytes from {path}")


def create_image(client, out, args):
    if not os.path.isfile(args.file) or not os.access(args.file, os.R_OK):
        raise errors.CliError(f"Cannot read the image file {args.file}")
    visibility = "public" if args.public else ("private" if args.private else None)
    image = client.post(session.IMAGE, "/v2/images", create_body(
        args.name, args.disk_format, args.container_format, visibility, args.property))
    try:
        upload(client, out, image["id"], args.file)
    except errors.CliError as exc:
        raise errors.CliError(f"Image {image['id']} was created but uploading its "
                              f"data failed: {exc}") from None
    out.show(client.get(session.IMAGE, f"/v2/images/{image['id']}"))


def list_images(client, out, args):
    columns = LONG_COLUMNS if args.long else COLUMNS
    out.list(columns, resolve.list_all(client, IMAGE))


def register(top, common):
    actions = parsing.resource(top, "image", "Images servers boot from")
    parser = parsing.action(actions, "create", create_image,
                            "Create an image and upload its data", common)
    parser.add_argument("name", metavar="NAME", help="name of the new image")
    parser.add_argument("--file", required=True, metavar="PATH",
                        help="the image data to upload")
    parser.add_argument("--disk-format", default="qcow2",
                        help="disk format: qcow2, raw, ... (default: qcow2)")
    parser.add_argument("--container-format", default="bare",
                        help="container format (default: bare)")
    visibility = parser.add_mutually_exclusive_group()
    visibility.add_argument("--public", action="store_true",
                            help="make the image visible to every project")
    visibility.add_argument("--private", action="store_true",
                            help="make the image visible to its project only")
    parsing.add_property_option(parser, "image")
    parser = parsing.action(actions, "list", list_images, "List images", common)
    parser.add_argument("--long", action="store_true", help="list more fields")
