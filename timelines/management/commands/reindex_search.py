"""Fill the search index with posts stored before it existed (or, with --all, index every post again)."""

from django.core.management.base import BaseCommand

from timelines.search.index import reindex


class Command(BaseCommand):
    help = "Index stored posts for search: those missing from the index, or all of them with --all."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="index every post again (after a tokenizer change)")
        parser.add_argument("--batch", type=int, default=2000, help="posts per transaction")

    def handle(self, *args, **options):
        done = 0
        for done in reindex(batch_size=options["batch"], only_missing=not options["all"]):
            if options["verbosity"] > 1:
                self.stdout.write(f"{done} posts indexed")
        self.stdout.write(f"indexed {done} posts")
