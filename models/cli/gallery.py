"""`genloom gallery list|export|favourite|delete|restore|empty-trash`."""
from __future__ import annotations

from models.gallery.store import GalleryStore

from .common import print_json


def register(subs) -> None:
    parser = subs.add_parser("gallery", help="list, export and manage generated items")
    inner = parser.add_subparsers(dest="gallery_command", required=True)
    listing = inner.add_parser("list", help="list items, newest first")
    listing.add_argument("--kind", help="faces, image, vae, chat")
    listing.add_argument("--model")
    listing.add_argument("--search", help="text to find in prompt, parameters, model or seed")
    listing.add_argument("--favourites", action="store_true")
    listing.add_argument("--trash", action="store_true", help="list the trash instead")
    listing.add_argument("--limit", type=int)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    export = inner.add_parser("export", help="copy items to a folder")
    export.add_argument("ids", nargs="+", type=int)
    export.add_argument("--to", required=True, help="destination folder")
    export.add_argument("--format", default="md", choices=["md", "txt", "json"], help="format for text items")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=run_export)
    for name, func, text in (("favourite", run_favourite, "mark items as favourites"),
                             ("unfavourite", run_unfavourite, "unmark favourites"),
                             ("delete", run_delete, "move items to the trash"),
                             ("restore", run_restore, "take items out of the trash")):
        sub = inner.add_parser(name, help=text)
        sub.add_argument("ids", nargs="+", type=int)
        sub.set_defaults(func=func)
    empty = inner.add_parser("empty-trash", help="delete trashed items for good")
    empty.set_defaults(func=run_empty)


def run_list(args) -> int:
    items = GalleryStore().list(kind=args.kind, model=args.model, search=args.search,
                                favourites=args.favourites, trashed=args.trash, limit=args.limit)
    if args.json:
        print_json({"items": [i.to_json() for i in items]})
        return 0
    for item in items:
        star = "*" if item.favourite else " "
        print(f"{item.id:>6} {star} {item.kind:<6} {item.model:<24} seed={item.seed} {item.prompt[:40]!r} {item.path}")
    return 0


def run_export(args) -> int:
    written = GalleryStore().export(args.ids, args.to, text_format=args.format)
    if args.json:
        print_json({"files": [str(p) for p in written]})
    else:
        for path in written:
            print(path)
    return 0


def run_favourite(args) -> int:
    store = GalleryStore()
    for item_id in args.ids:
        store.set_favourite(item_id, True)
    return 0


def run_unfavourite(args) -> int:
    store = GalleryStore()
    for item_id in args.ids:
        store.set_favourite(item_id, False)
    return 0


def run_delete(args) -> int:
    GalleryStore().trash(args.ids)
    print(f"Moved {len(args.ids)} item(s) to the trash; 'genloom gallery empty-trash' deletes them for good.")
    return 0


def run_restore(args) -> int:
    GalleryStore().trash(args.ids, trashed=False)
    return 0


def run_empty(args) -> int:
    print(f"Deleted {GalleryStore().empty_trash()} item(s).")
    return 0
