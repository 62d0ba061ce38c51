"""Static data shipped with Fireplay: model catalog, icons, themes."""
