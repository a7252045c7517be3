"""Code images in S3 when CODE_IMAGES_BUCKET is set (as the stack sets it): the requests the
app makes, checked by botocore's own Stubber against S3's API model (no S3 here)."""
import io

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chalicelib.guides import code_images

IMAGE = b"\xff\xd8\xff" + b"\x00" * 20_000


@pytest.fixture
def s3(monkeypatch):
    for name, value in {"CODE_IMAGES_BUCKET": "yutang-demo-code-images",
                        "AWS_DEFAULT_REGION": "cn-north-1", "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    with Stubber(code_images._s3()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_an_image_is_put_in_the_bucket_under_its_scene(s3):
    s3.add_response("put_object", {}, {"Bucket": "yutang-demo-code-images",
                                       "Key": "codes/k3v9xq2m7a.jpg", "Body": IMAGE,
                                       "ContentType": "image/jpeg"})
    code_images.save("k3v9xq2m7a", IMAGE)


def test_a_kept_image_is_read_back_and_a_missing_one_is_none(s3):
    where = {"Bucket": "yutang-demo-code-images", "Key": "codes/k3v9xq2m7a.jpg"}
    s3.add_response("get_object", {"Body": StreamingBody(io.BytesIO(IMAGE), len(IMAGE))},
                    where)
    s3.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404,
                        expected_params=where)
    s3.add_client_error("get_object", service_error_code="AccessDenied",
                        http_status_code=403, expected_params=where)

    assert code_images.load("k3v9xq2m7a") == IMAGE
    assert code_images.load("k3v9xq2m7a") is None
    with pytest.raises(Exception, match="AccessDenied"):  # never taken for "not kept"
        code_images.load("k3v9xq2m7a")
