# shellcheck shell=bash
# The demo image "nova-lite-tiny": build (or reuse) a file and upload it once.

IMAGE_NAME=${IMAGE_NAME:-nova-lite-tiny}

# Sets IMAGE_FILE and IMAGE_FORMAT.
build_image() {
    local builder="$DEVSTACK_DIR/tools/build-image.sh" out
    if [ -x "$builder" ]; then
        info "building the image with $builder"
        out=$("$builder" | tail -n 1)
        [ -n "$out" ] && [ -f "$out" ] || die "$builder did not print the path of an image file (got '$out')"
        IMAGE_FILE=$out
    else
        IMAGE_FILE="$NOVA_LITE_STATE/$IMAGE_NAME.qcow2"
        if [ -f "$IMAGE_FILE" ]; then
            info "$IMAGE_FILE exists"
        else
            info "creating a placeholder (empty, not bootable) 1G qcow2 image"
            qemu-img create -q -f qcow2 "$IMAGE_FILE" 1G
        fi
    fi
    IMAGE_FORMAT=$(qemu-img info --output=json "$IMAGE_FILE" \
        | "$NOVA_LITE_VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["format"])')
    info "image file $IMAGE_FILE ($IMAGE_FORMAT, $(du -h "$IMAGE_FILE" | cut -f1) on disk)"
}

openstack_as_admin() {
    (
        set +u
        # shellcheck disable=SC1091
        . "$NOVA_LITE_ETC/openrc-admin"
        "$NOVA_LITE_VENV/bin/openstack" "$@"
    )
}

# "ID STATUS CHECKSUM" of each image named IMAGE_NAME, from
# `openstack image list --long -f json` on standard input.
images_named() {
    "$NOVA_LITE_VENV/bin/python" -c '
import json, sys
for image in json.load(sys.stdin):
    if image.get("Name") == sys.argv[1]:
        print(image["ID"], str(image.get("Status", "")).lower(), image.get("Checksum") or "-")
' "$IMAGE_NAME"
}

# Make IMAGE_NAME the image in IMAGE_FILE:
# - an active image of that name with the file's checksum: nothing to do;
# - else upload the file, and then delete the older images of that name (a
#   placeholder replaced by a real build, or leftovers of a failed upload),
#   so the name stays unambiguous.
# Returns non-zero (with a message) on failure instead of exiting, so the rest
# of the cloud stays usable when only the Image API has a problem.
upload_image() {
    local listing named file_md5 current="" id status checksum out new_id
    if ! listing=$(openstack_as_admin image list --long -f json 2>&1); then
        warn "openstack image list failed: $listing"
        return 1
    fi
    if ! named=$(images_named <<<"$listing"); then
        warn "cannot read the image list: $listing"
        return 1
    fi
    file_md5=$(md5sum "$IMAGE_FILE" | cut -d' ' -f1)
    while read -r id status checksum; do
        [ -n "$id" ] || continue
        if [ "$status" = active ] && [ "$checksum" = "$file_md5" ] && [ -z "$current" ]; then
            current=$id
        fi
    done <<<"$named"

    if [ -n "$current" ]; then
        info "image $IMAGE_NAME ($current) is active and matches $IMAGE_FILE"
    else
        info "uploading $IMAGE_FILE as $IMAGE_NAME ($IMAGE_FORMAT)"
        if ! out=$(openstack_as_admin image create --file "$IMAGE_FILE" \
                --disk-format "$IMAGE_FORMAT" --container-format bare --public \
                -f value -c id -c status "$IMAGE_NAME" 2>&1); then
            warn "openstack image create failed:"
            printf '      %s\n' "${out//$'\n'/$'\n'      }" >&2
            return 1
        fi
        read -r -d '' new_id status <<<"$out" || true
        if [ "$(tr '[:upper:]' '[:lower:]' <<<"$status")" != active ]; then
            warn "the new image $new_id is '$status', not active; keeping the older images"
            return 1
        fi
        info "uploaded: $new_id ($status)"
        current=$new_id
    fi

    while read -r id status checksum; do
        [ -n "$id" ] && [ "$id" != "$current" ] || continue
        info "deleting the older image $id ($IMAGE_NAME, $status)"
        openstack_as_admin image delete "$id" || warn "could not delete image $id"
    done <<<"$named"
}
