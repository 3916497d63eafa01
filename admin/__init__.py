"""The outermost layer: the web application (admin, plugin callbacks) and the `abonent`
command line. It imports core/ and plugins/; nothing imports it."""
