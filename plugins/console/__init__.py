"""The web console for installed plugins: install from the storefront, installations (enable
operations, pin or upgrade the version, uninstall), the allow-list editor, "try it", and usage
charts for installations and for publishers. Views are thin: the rules live in
plugins.installations (services, policy), plugins.proxy (the call pipeline) and
plugins.credentials (connections)."""
