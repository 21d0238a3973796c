"""`written_here`: a source of this repository as an SBOM component, beside the pinned archives."""

def _impl(ctx):
    src = ctx.file.src
    prov = ctx.actions.declare_file(ctx.label.name + "/PROVENANCE.json")

    # The same shape as pinned_archive's PROVENANCE.json, so the SBOM writers read
    # both alike; `sha256` is the source file's, filled in by the action.
    template = json.encode_indent({
        "artifact": "written here",
        "license": ctx.attr.license,
        "name": ctx.label.name,
        "path": src.short_path,
        "sha256": "@SHA256@",
        "version": ctx.attr.version,
    }, indent = "  ") + "\n"
    ctx.actions.run_shell(
        inputs = [src],
        outputs = [prov],
        command = 'h=$(sha256sum "$1" | cut -d" " -f1) && printf "%s" "$2" | sed "s/@SHA256@/$h/" > "$3"',
        arguments = [src.path, template, prov.path],
        mnemonic = "WrittenHereProvenance",
        progress_message = "Recording the provenance of " + src.short_path,
    )
    return [DefaultInfo(files = depset([prov, ctx.file.license_text]))]

written_here = rule(
    implementation = _impl,
    doc = """A program whose source is this repository's own file rather than a pinned archive
(su-exec: Debian carries no su-exec source). Provides what a //krunner/licenses
component provides: a PROVENANCE.json (`artifact` "written here", the file's path
and sha256, its version and SPDX license) and its license text.""",
    attrs = {
        "src": attr.label(mandatory = True, allow_single_file = True, doc = "The one source file the program is built from."),
        "version": attr.string(mandatory = True, doc = "The program's version, raised whenever the source changes."),
        "license": attr.string(mandatory = True, doc = "The source's SPDX license expression, as its SPDX-License-Identifier line says."),
        "license_text": attr.label(mandatory = True, allow_single_file = True, doc = "The license's text, shipped beside the binary."),
    },
)
