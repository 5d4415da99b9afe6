"""The one owner of the user's filesystem: every path calibprune creates, replaces or deletes goes through here.

calibprune deletes or replaces only what carries its mark (a ``.calibprune`` marker in a folder it made, a temp
name with this run's random id, or content a writer recognises as its own); anything else is refused, naming the
parameter that pointed there. Every file is written to a temp name, fsynced and renamed (:mod:`.atomic`);
records are appended so that a torn line never swallows the next (:mod:`.records`); SIGTERM and SIGINT stop a run
the same way everywhere (:mod:`.signals`). ``tests/files/test_walk.py`` checks that no other module deletes or
replaces files.
"""
