#!/usr/bin/env bash
# regenerate.sh: rewrites the reference screendumps in this folder by running the display test
# in regeneration mode. Not a test: look at every image it writes before committing it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hd=${1:-$here/../../build/cli/hyperdesk}
if [ ! -x "$hd" ]; then
	echo "usage: $0 [PATH-TO-hyperdesk]   (default: build/cli/hyperdesk; build it first)" >&2
	exit 2
fi
HYPERDESK_REGENERATE_REFERENCES=1 "$here/../integration/display.sh" "$hd"
echo "now look at each image:"
ls -l "$here"/*.png
