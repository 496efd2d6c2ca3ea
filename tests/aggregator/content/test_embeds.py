"""Frames and embeds in a post are never run: each becomes a link to what it showed (or nothing, when its address
is not an http(s) one)."""

from aggregator.content.sanitize import clean_html, shown_html


def test_a_video_frame_becomes_a_link_to_the_video():
    html = clean_html('<p>Watch:</p><iframe src="https://www.youtube.com/embed/abc?a=1&amp;b=2" width="560">'
                      "Your browser cannot show frames</iframe><p>after</p>")  # fmt: skip
    assert html == ('<p>Watch:</p><a class="embed" href="https://www.youtube.com/embed/abc?a=1&amp;b=2" '
                    'rel="noopener noreferrer nofollow">Embedded content from www.youtube.com</a><p>after</p>')  # fmt: skip


def test_embeds_and_objects_resolve_against_the_feed_and_keep_nothing_else():
    html = clean_html("<object data='/player.swf'></object><embed src=//cdn.example/clip onload=alert(1)>",
                      base_url="https://blog.example/feed.xml")  # fmt: skip
    assert 'href="https://blog.example/player.swf"' in html and 'href="https://cdn.example/clip"' in html
    assert "onload" not in html and "<object" not in html and "<embed" not in html


def test_a_frame_with_a_script_address_leaves_no_link():
    assert clean_html('<iframe src="jav&#x09;ascript:alert(1)"></iframe><iframe srcdoc="<script>x</script>"></iframe>') == ""


def test_a_feed_cannot_add_other_classes():
    assert clean_html('<a class="embed skip-link" href="https://x.example/">x</a>') == (
        '<a class="embed" href="https://x.example/" rel="noopener noreferrer nofollow">x</a>')


def test_the_page_keeps_the_embed_link_of_a_post_with_pictures():
    stored = clean_html('<img src="https://blog.example/a.png"><iframe src="https://video.example/v/1"></iframe>')
    shown = shown_html(stored)
    assert '<a class="embed" href="https://video.example/v/1"' in shown and "https://blog.example/a.png" not in shown
