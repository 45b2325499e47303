"""Acts. The executor carries out the engine's commands over REST (close, reduce, cancel,
flatten, stop changes), verifies each by re-reading, retries and raises the alarm; ``steps``
holds the per-verb calls; ``reconcile`` re-reads the account after every (re)connect.

It may import everything below it (domain, config, modules, persistence, gateway, engine);
never the app.
"""
