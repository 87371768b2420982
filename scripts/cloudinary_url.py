"""Prints the delivery URL Cloudinary's official Python SDK writes for a
public id and options, signed with the given secret (tests/src/sdk.rs).

    python cloudinary_url.py SECRET PUBLIC_ID OPTIONS_JSON
"""

import json
import sys

import cloudinary
import cloudinary.utils


def main():
    secret, public_id, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cloudinary.config(cloud_name="avenue", api_key="1", api_secret=secret, secure=True)
    url, _ = cloudinary.utils.cloudinary_url(public_id, **options)
    sys.stdout.write(url)


if __name__ == "__main__":
    main()
