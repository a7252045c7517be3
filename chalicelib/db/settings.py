"""Brand settings: configuration documents (JSON), brand-wide counters and job cursors, one
item each in the brand-settings table. Everything outside db/ goes through the functions
below, never through the model, so a document's shape on the table is decided here alone."""
import json

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from chalicelib.db.base import Model, TableMeta


class BrandSetting(Model):
    """Per-brand configuration documents (the loyalty program, …), as JSON, and brand-wide
    counters."""

    class Meta(TableMeta):
        table = "brand-settings"

    key = UnicodeAttribute(hash_key=True)
    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute(null=True)
    counter = NumberAttribute(null=True)  # a count kept by conditional adds (the brand's admins)


def _text(document):
    """A document as it is stored: JSON, Chinese kept as written (readable in the console)."""
    return json.dumps(document, ensure_ascii=False)


def read_text(key, consistent=False):
    """The stored JSON text under key, or None: what write_if_unchanged is conditioned on."""
    try:
        return BrandSetting.get(key, consistent_read=consistent).document
    except DoesNotExist:
        return None


def read(key, default=None, consistent=False):
    """The document under key, or default until one is written."""
    text = read_text(key, consistent)
    return default if text is None else json.loads(text)


def write(key, document, now, by=None):
    """Writes the document under key (by: the admin who did, for the record)."""
    BrandSetting(key, document=_text(document), updated_at=now, updated_by=by).save()


def write_if_unchanged(key, document, text_read, now):
    """Writes the document under key on condition it still holds text_read (None: that there
    was none), so of two runs that read the same text only one moves it on; the other gets a
    PutError (ConditionalCheckFailed). Returns the text written, for the next move."""
    text = _text(document)
    condition = BrandSetting.key.does_not_exist() if text_read is None \
        else BrandSetting.document == text_read
    BrandSetting(key, document=text, updated_at=now).save(condition=condition)
    return text


def forget(key):
    """Deletes the item under key: a document back to its default, a cursor to before its
    first run."""
    BrandSetting(key).delete()


def count(key):
    """A brand-wide counter, read strongly consistent; 0 until first moved."""
    try:
        return BrandSetting.get(key, consistent_read=True).counter or 0
    except DoesNotExist:
        return 0


def count_in(writes, key, change, *, name, stays_above=None):
    """Adds change to the counter under key as the item `name` of the transaction writes; with
    stays_above, on condition the count before it is above that (a removal that would take
    the count to stays_above or below fails the transaction)."""
    writes.update(BrandSetting(key), actions=[BrandSetting.counter.add(change)],
                  condition=None if stays_above is None else BrandSetting.counter > stays_above,
                  name=name)
