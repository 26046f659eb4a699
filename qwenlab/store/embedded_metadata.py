"""Settings written inside an image file, without touching its pixels.

    data = embed(original_bytes, "jpeg", parameters="A poster...\\nSeed: 42, ...", record={...})

Each format gets the places its readers look, spliced into the file's container: the encoded
image data is copied byte for byte, never decoded or encoded again, so the pixels are the
original's exactly.

- JPEG: an APP1 Exif segment (ImageDescription: the prompt; UserComment: the parameters text;
  Software), an APP1 XMP packet (dc:description, qwenlab:parameters, qwenlab:record as JSON) and a
  COM comment (the parameters text), inserted after the JFIF header; earlier Exif, XMP and
  comments of the file are replaced.
- PNG: iTXt chunks `parameters` (the text AUTOMATIC1111's "PNG Info" reads), `qwenlab` (the
  record as JSON) and `XML:com.adobe.xmp`, and an eXIf chunk, right after IHDR.
- WebP: EXIF and `XMP ` chunks in the extended (VP8X) layout; a simple file is given the VP8X
  header it then needs (canvas size and flags), its VP8/VP8L data left as it is.

The parameters text follows AUTOMATIC1111's layout (prompt, "Negative prompt: ...", then
"Key: value, ..."), so tools that read A1111's PNG Info show it.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from html import escape
from io import BytesIO
from typing import Any

from ..errors import ImageError
from ..version import __version__

__all__ = ["embed", "xmp_packet", "exif_bytes", "MAX_SEGMENT"]

MAX_SEGMENT = 65533  # a JPEG segment's payload limit (its 2-byte length counts itself)
_XMP_NS = b"http://ns.adobe.com/xap/1.0/\x00"
_EXIF_HEADER = b"Exif\x00\x00"


def embed(data: bytes, fmt: str, *, parameters: str, record: dict[str, Any], description: str = "") -> bytes:
    """`data` (a JPEG, PNG or WebP file) with `parameters`, `record` and `description` written
    into its metadata. ImageError for another format or a file that is not what it says."""
    kind = fmt.lower().replace("jpg", "jpeg")
    xmp = xmp_packet(description, parameters, record)
    exif = exif_bytes(description, parameters)
    if kind == "jpeg":
        return _jpeg(data, xmp, exif, parameters)
    if kind == "png":
        return _png(data, xmp, exif, parameters, record)
    if kind == "webp":
        return _webp(data, xmp, exif)
    raise ImageError(f"cannot write metadata into a {fmt!r} file: only JPEG, PNG and WebP")


# what XML 1.0 forbids in text, even escaped: a prompt holding one made a packet no reader parses
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    """Text as XML character data: escaped, and each character XML cannot hold as U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text))


def xmp_packet(description: str, parameters: str, record: dict[str, Any]) -> bytes:
    """An XMP packet with the prompt (dc:description), the parameters text and the JSON record.
    Kept under a JPEG segment's size: a record too large for it is left to the JSON sidecar."""
    def packet(rec: str) -> bytes:
        return (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:qwenlab="https://qwenlab.invalid/ns/1.0/">'
            f'<xmp:CreatorTool>qwenlab {_xml(__version__)}</xmp:CreatorTool>'
            f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_xml(description)}</rdf:li></rdf:Alt></dc:description>'
            f'<qwenlab:parameters>{_xml(parameters)}</qwenlab:parameters>'
            f'<qwenlab:record>{_xml(rec)}</qwenlab:record>'
            '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")

    full = packet(json.dumps(record, ensure_ascii=False, sort_keys=True))
    if len(full) + len(_XMP_NS) <= MAX_SEGMENT:
        return full
    return packet(json.dumps({"note": "too large for the file; see the JSON sidecar"}))


def exif_bytes(description: str, parameters: str) -> bytes:
    """A TIFF-layout Exif block (no "Exif\\0\\0" header): ImageDescription, Software and, in the
    Exif IFD, UserComment (UTF-16 with the "UNICODE" marker, as AUTOMATIC1111 writes it).
    ImageDescription is ASCII by the standard: a prompt with other characters (Chinese, an
    accent) is left to UserComment and the XMP, where it was written as '?' marks."""
    from PIL import Image

    exif = Image.Exif()
    if description.isascii():
        exif[0x010E] = description[:4000]
    exif[0x0131] = f"qwenlab {__version__}"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + parameters[:16000].encode("utf-16-be")
    out = exif.tobytes()
    return out[len(_EXIF_HEADER):] if out.startswith(_EXIF_HEADER) else out


# -- JPEG -------------------------------------------------------------------------------------------
def _jpeg(data: bytes, xmp: bytes, exif: bytes, comment: str) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ImageError("not a JPEG file (no SOI marker)")
    head: list[bytes] = []   # APP0 (JFIF) stays first
    rest: list[bytes] = []
    i = 2
    while True:
        if i + 4 > len(data) or data[i] != 0xFF:
            raise ImageError("a damaged JPEG: its header segments do not parse")
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded data follows, copied as it is
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        segment = data[i:i + 2 + length]
        payload = segment[4:]
        if marker == 0xE0:
            head.append(segment)
        elif not ((marker == 0xE1 and (payload.startswith(_EXIF_HEADER) or payload.startswith(_XMP_NS)))
                  or marker == 0xFE):
            rest.append(segment)
        i += 2 + length
    comment_bytes = comment.encode("utf-8")[:MAX_SEGMENT]
    ours = [_segment(0xE1, _EXIF_HEADER + exif), _segment(0xE1, _XMP_NS + xmp), _segment(0xFE, comment_bytes)]
    return b"\xff\xd8" + b"".join(head + ours + rest) + data[i:]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > MAX_SEGMENT:
        raise ImageError(f"metadata of {len(payload)} bytes does not fit a JPEG segment")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


# -- PNG --------------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_OUR_KEYWORDS = {b"parameters", b"qwenlab", b"XML:com.adobe.xmp"}


def _png(data: bytes, xmp: bytes, exif: bytes, parameters: str, record: dict[str, Any]) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise ImageError("not a PNG file (no PNG signature)")
    chunks: list[tuple[bytes, bytes]] = []
    i = len(_PNG_SIGNATURE)
    while i < len(data):
        if i + 8 > len(data):
            raise ImageError("a damaged PNG: a chunk is cut short")
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + length]
        keyword = body.split(b"\x00", 1)[0]
        if not (kind == b"eXIf" or (kind in (b"tEXt", b"iTXt", b"zTXt") and keyword in _OUR_KEYWORDS)):
            chunks.append((kind, body))
        i += 12 + length
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ImageError("a damaged PNG: IHDR is not its first chunk")
    ours = [(b"iTXt", _itxt("parameters", parameters.encode("utf-8"))),
            (b"iTXt", _itxt("qwenlab", json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"))),
            (b"iTXt", _itxt("XML:com.adobe.xmp", xmp)),
            (b"eXIf", exif)]
    out = [_PNG_SIGNATURE]
    for kind, body in [chunks[0], *ours, *chunks[1:]]:
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return b"".join(out)


def _itxt(keyword: str, text: bytes) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, UTF-8 text
    return keyword.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text


# -- WebP -------------------------------------------------------------------------------------------
_VP8X_EXIF, _VP8X_XMP, _VP8X_ALPHA = 0x08, 0x04, 0x10


def _webp(data: bytes, xmp: bytes, exif: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ImageError("not a WebP file (no RIFF/WEBP header)")
    chunks: list[tuple[bytes, bytes]] = []
    i = 12
    while i + 8 <= len(data):
        kind = data[i:i + 4]
        size = struct.unpack("<I", data[i + 4:i + 8])[0]
        chunks.append((kind, data[i + 8:i + 8 + size]))
        i += 8 + size + (size & 1)
    chunks = [(k, b) for k, b in chunks if k not in (b"EXIF", b"XMP ")]
    if not chunks:
        raise ImageError("a damaged WebP: no chunks")
    if chunks[0][0] == b"VP8X":
        header = bytearray(chunks[0][1])
        header[0] |= _VP8X_EXIF | _VP8X_XMP
        chunks[0] = (b"VP8X", bytes(header))
    else:  # a simple file: VP8X goes first, with the canvas size and what the file holds
        from PIL import Image

        with Image.open(BytesIO(data)) as im:
            width, height, alpha = im.width, im.height, "A" in im.getbands()
        flags = _VP8X_EXIF | _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", header))
    chunks += [(b"EXIF", exif), (b"XMP ", xmp)]
    body = b"WEBP" + b"".join(k + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
