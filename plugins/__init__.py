"""The plugin host: discovery, configuration, the event outbox and its delivery, the
scheduler, and the pytest plugin for plugin authors (`plugins.testing`)."""
