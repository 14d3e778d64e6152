def storefront_plugins(*, query: str):
    return []
