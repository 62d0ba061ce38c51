"""One view per tab, registered in ``widgets.tabs.registry``."""
