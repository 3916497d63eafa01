"""The service layer: the operations the admin, the CLI, jobs and plugins call.

Each function takes the session of the caller's transaction (`Runtime.session()`),
validates its input (raising `ValidationError` naming the field), writes its events and
audit entries in that transaction, and never commits: the caller's block does, so an
error anywhere leaves the database unchanged.
"""
