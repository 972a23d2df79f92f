#!/bin/sh
# deploy.sh ENV BUILD (step deploy-staging)
#
# Ships the generated API and web code to BUILD/deploy/ENV, with a MANIFEST
# of checksums, replacing the previous release in one rename. A local
# directory stands in for the staging host.
set -eu
env=${1:?usage: deploy.sh ENV BUILD}
build=${2:?usage: deploy.sh ENV BUILD}
dest=$build/deploy/$env
trap 'rm -rf "$dest.new"' EXIT

if [ ! -s "$build/reports/predeploy.txt" ]; then
	echo "deploy: $build/reports/predeploy.txt is missing: validate first" >&2
	exit 1
fi
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -R "$build/api" "$build/web" "$dest.new/"
manifest=$(cd "$dest.new" && find . -type f | sort | xargs cksum)
printf "%s\n" "$manifest" >"$dest.new/MANIFEST"
echo "release ${ORCH_RUN_ID:-by hand} to $env, $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dest.new/RELEASE"
rm -rf "$dest.old"
if [ -d "$dest" ]; then
	mv "$dest" "$dest.old"
fi
mv "$dest.new" "$dest"
rm -rf "$dest.old"
echo "deploy: $(wc -l <"$dest/MANIFEST") files in $dest"
