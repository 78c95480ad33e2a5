#!/usr/bin/env bash
# Builds the ESP32-C3 firmware (riscv32imc-unknown-none-elf) with the machine's stable
# Rust, also where the RISC-V target and `rust-src` cannot be installed (no network to
# rustup). It is a build check for such machines, not the way to build for a board:
# with rustup online, `rustup target add riscv32imc-unknown-none-elf` and
# `cargo +stable build-c3` do the same (README.md).
#
# Without the target, it rebuilds the target's `core` and `alloc` from the source
# pages of the toolchain's own `rust-docs` component (the exact source of that
# rustc), and the compiler intrinsics from the `compiler_builtins` crate on
# crates.io, into a private sysroot under target/. Nothing outside target/ changes.
#
#   scripts/build-c3-offline.sh            # release build and clippy, prints the ELF's sizes
#   WR_NODE_ID=srv_a WR_NODE_KIND=server scripts/build-c3-offline.sh
#
# The Xtensa ESP32 cannot be built this way: upstream rustc has no Xtensa backend.
set -euo pipefail

readonly TARGET=riscv32imc-unknown-none-elf
# The intrinsics' crate; a version that builds against the current `core`.
readonly BUILTINS_VERSION=0.1.160

firmware_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# rust-toolchain.toml names the `esp` toolchain; this check uses the host's.
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN_HOST:-stable}"
toolchain=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
work="$firmware_dir/target/offline-sysroot"
sysroot="$work/sysroot"
libdir="$sysroot/lib/rustlib/$TARGET/lib"
rustflags=(-C force-frame-pointers)

say() { printf 'build-c3-offline: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

compile_unit() {
    # compile_unit NAME SOURCE [rustc args...]: one crate of the target's sysroot.
    local name=$1 source=$2
    shift 2
    RUSTC_BOOTSTRAP=1 rustc --edition 2024 --crate-type rlib --crate-name "$name" \
        --target "$TARGET" -C opt-level=3 -C panic=abort -C codegen-units=1 \
        -C debug-assertions=no -C overflow-checks=no -Z force-unstable-if-unmarked \
        -C metadata="wr-offline-$name" -L "$work/out" --out-dir "$work/out" \
        "$@" "$source"
}

extract_library_source() {
    # rustdoc's source pages hold every file it compiled, line-numbered and
    # highlighted; stripping the markup gives the file back byte for byte.
    local pages="$toolchain/share/doc/rust/html/src"
    [[ -f "$pages/core/lib.rs.html" ]] ||
        die "no $pages/core/lib.rs.html: install the rust-docs component, or the $TARGET target"
    python3 - "$pages" "$work/library" <<'PY'
import html, os, re, shutil, sys

pages, library = sys.argv[1], sys.argv[2]
line_number = re.compile(r'<a href=#\d+ id=\d+ data-nosnippet>\d+</a>')
markup = re.compile(r'<[^>]+>')
code = re.compile(r'<pre class="rust"><code>(.*?)</code></pre>', re.S)
shutil.rmtree(library, ignore_errors=True)
# Where each page tree lives in rust-lang/rust's library/ (core's #[path]s expect it).
layout = {'core': 'core/src', 'alloc': 'alloc/src',
          'core/stdarch': 'stdarch', 'core/portable-simd': 'portable-simd'}
count = 0
for crate in ('core', 'alloc'):
    for folder, _, names in os.walk(os.path.join(pages, crate)):
        for name in names:
            if not name.endswith('.rs.html'):
                continue
            page = os.path.join(folder, name)
            rel = os.path.relpath(page, pages)[:-len('.html')]
            prefix = max((p for p in layout if rel.startswith(p + '/')), key=len)
            target = os.path.join(library, layout[prefix], rel[len(prefix) + 1:])
            with open(page, encoding='utf-8') as f:
                found = code.search(f.read())
            if not found:
                sys.exit(f'{page}: no source block (has rustdoc changed its pages?)')
            text = html.unescape(markup.sub('', line_number.sub('', found.group(1))))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'w', encoding='utf-8') as f:
                f.write(text)
            count += 1
print(f'{count} source files', file=sys.stderr)
PY
}

compile_with_doc_stubs() {
    # The docs have no pages for the Markdown that #[doc = include_str!(..)] pulls in;
    # an empty stand-in is enough to compile (the text only feeds documentation).
    local log="$work/compile.log" round missing
    for round in 1 2 3 4 5; do
        if compile_unit "$@" >"$log" 2>&1; then
            return 0
        fi
        # rustc: couldn't read `path/to/file.md`: No such file or directory
        missing=$(grep -o "couldn't read \`[^\`]*\.md\`" "$log" | cut -d '`' -f 2 | sort -u || true)
        [[ -n "$missing" ]] || { cat "$log" >&2; die "compiling $1 failed"; }
        while IFS= read -r file; do
            mkdir -p "$(dirname "$file")"
            : >"$file"
        done <<<"$missing"
        say "$1: $(wc -l <<<"$missing") documentation file(s) stubbed (round $round)"
    done
    die "compiling $1: documentation stubs did not converge"
}

builtins_source() {
    # Fetches the pinned compiler_builtins and prints its source directory.
    local probe="$work/builtins-fetch"
    mkdir -p "$probe/src"
    : >"$probe/src/lib.rs"
    cat >"$probe/Cargo.toml" <<EOF
[package]
name = "builtins-fetch"
version = "0.0.0"
edition = "2021"
[dependencies]
compiler_builtins = { version = "=$BUILTINS_VERSION", default-features = false }
[workspace]
EOF
    cargo metadata --quiet --format-version 1 --manifest-path "$probe/Cargo.toml" |
        python3 -c 'import json, os, sys
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "compiler_builtins"))'
}

build_sysroot() {
    local builtins stub
    say "rebuilding core and alloc for $TARGET from $toolchain's rust-docs"
    mkdir -p "$work/out" "$libdir"
    extract_library_source
    (
        cd "$work/library"
        compile_with_doc_stubs core core/src/lib.rs
        # The crate every no_std crate links implicitly; the intrinsics themselves
        # come as a separate object (below), because compiler_builtins $BUILTINS_VERSION
        # as the marked crate trips rustc's check on calls into core.
        stub="$work/compiler_builtins_stub.rs"
        printf '%s\n' '#![feature(compiler_builtins)]' '#![allow(internal_features)]' \
            '#![compiler_builtins]' '#![no_builtins]' '#![no_std]' >"$stub"
        compile_unit compiler_builtins "$stub" --extern core="$work/out/libcore.rlib"
        compile_with_doc_stubs alloc alloc/src/lib.rs \
            --extern core="$work/out/libcore.rlib" \
            --extern compiler_builtins="$work/out/libcompiler_builtins.rlib"
    )
    cp "$work/out/libcore.rlib" "$work/out/liballoc.rlib" "$work/out/libcompiler_builtins.rlib" "$libdir/"
    ln -sfn "$toolchain/lib/rustlib/$host" "$sysroot/lib/rustlib/$host"

    builtins=$(builtins_source)
    say "intrinsics from $builtins"
    # The cfgs its build script sets for this target (mem: memcpy, strlen, ...).
    RUSTC_BOOTSTRAP=1 rustc --edition 2024 --crate-type rlib --crate-name wr_builtins \
        --target "$TARGET" -C opt-level=3 -C panic=abort -C codegen-units=1 \
        -C debug-assertions=no -C overflow-checks=no --sysroot "$sysroot" --cap-lints allow \
        --cfg 'feature="mem"' --cfg 'feature="unstable-intrinsics"' --cfg intrinsics_enabled \
        --cfg arch_enabled --cfg optimizations_enabled \
        --emit obj="$work/out/builtins.o" "$builtins/src/lib.rs"
    touch "$work/stamp-$(rustc -V | tr ' ()' '_')"
}

if rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    say "$TARGET is installed: building with it"
else
    [[ -f "$work/stamp-$(rustc -V | tr ' ()' '_')" ]] || build_sysroot
    rustflags+=(--sysroot "$sysroot" -C "link-arg=$work/out/builtins.o")
fi

cd "$firmware_dir"
# One flag per field, so paths with spaces survive.
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; printf '%s' "${rustflags[*]}")
export CARGO_ENCODED_RUSTFLAGS
cargo build --release --locked --target "$TARGET" --no-default-features --features esp32c3
cargo clippy --release --locked --target "$TARGET" --no-default-features --features esp32c3 \
    -- -D warnings
elf="$firmware_dir/target/$TARGET/release/winter-river-esp32"
say "built $elf"
if command -v llvm-size >/dev/null; then
    llvm-size -A "$elf" | grep -E '^(\.text|\.rodata|\.rwtext|\.data|\.bss|\.flash\.appdesc)' >&2 || true
fi
if command -v espflash >/dev/null; then
    # The app image the bootloader loads: espflash checks the segments and descriptor.
    espflash save-image --chip esp32c3 "$elf" "$elf.bin" >&2
    say "app image $elf.bin"
fi
