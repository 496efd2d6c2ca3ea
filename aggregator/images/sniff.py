"""What an image is, by its first bytes: the raster formats browsers show and cannot run.

Never SVG (it can carry script and links) nor anything else, whatever a server's Content-Type says.
"""


def sniff(body: bytes) -> str:
    """The image type by its first bytes, or "" for anything else (SVG, HTML, ...)."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if body[:4] == b"\x00\x00\x01\x00":
        return "image/x-icon"
    if body[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return ""
