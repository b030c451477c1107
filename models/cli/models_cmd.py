"""`genloom models list|import|remove`."""
from __future__ import annotations

from models.runtime import providers
from models.runtime.registry import KINDS, Registry

from .common import print_json

def register(subs) -> None:
    parser = subs.add_parser("models", help="list, import or remove models")
    inner = parser.add_subparsers(dest="models_command", required=True)
    listing = inner.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    imp = inner.add_parser("import", help="import an ONNX file/folder or a GGUF file")
    imp.add_argument("path")
    imp.add_argument("--kind", choices=KINDS, help="model kind (guessed when omitted)")
    imp.add_argument("--name", help="name to register it under")
    imp.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8", "int4"],
                     help="GGUF only: precision of the converted build")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=run_import)
    rm = inner.add_parser("remove", help="remove a user model")
    rm.add_argument("name")
    rm.set_defaults(func=run_remove)


def run_list(args) -> int:
    registry = Registry()
    items = [{**m.to_json(), "folder": m.folder, "bundled": registry.is_bundled(m)} for m in registry.all()]
    if args.json:
        status = providers.resolve(args.provider or "auto")
        print_json({"models": items, "providers": status.to_json()})
        return 0
    for m in items:
        print(f"{m['kind']:<9} {m['name']:<32} {m['license']:<12} {m['folder']}")
    if not items:
        print("No models installed. Run 'genloom setup'.")
    return 0


def run_import(args) -> int:
    from models.importing import import_path

    manifest = import_path(args.path, Registry(), kind=args.kind, name=args.name, precision=args.precision)
    if args.json:
        print_json({**manifest.to_json(), "folder": manifest.folder})
    else:
        print(f"Imported {manifest.kind} model '{manifest.name}' into {manifest.folder}")
    return 0


def run_remove(args) -> int:
    Registry().remove(args.name)
    print(f"Removed {args.name}")
    return 0
