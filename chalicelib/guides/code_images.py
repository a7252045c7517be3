"""Mini-program code images, kept where a setting says: the S3 bucket CODE_IMAGES_BUCKET on
AWS (the stack makes it), else files under the directory CODE_IMAGES_DIR. An image is
WeChat's JPEG of tens of KB: in a DynamoDB item it would be read, and billed, with every
lookup of its link, and bring the item near DynamoDB's 400 KB limit."""
from pathlib import Path

CONTENT_TYPE = "image/jpeg"


def _key(scene):
    return f"codes/{scene}.jpg"


def _s3():
    from chalicelib import aws

    return aws.client("s3")


def load(scene):
    """The image of the link with this scene, None if none was kept."""
    from chalicelib.config import settings

    bucket = settings.code_images_bucket
    if bucket:
        from botocore.exceptions import ClientError

        try:
            return _s3().get_object(Bucket=bucket, Key=_key(scene))["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
    path = Path(settings.code_images_dir) / _key(scene)
    return path.read_bytes() if path.is_file() else None


def save(scene, image):
    from chalicelib.config import settings

    bucket = settings.code_images_bucket
    if bucket:
        _s3().put_object(Bucket=bucket, Key=_key(scene), Body=image, ContentType=CONTENT_TYPE)
        return
    path = Path(settings.code_images_dir) / _key(scene)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")  # a reader never sees half an image
    partial.write_bytes(image)
    partial.replace(path)
