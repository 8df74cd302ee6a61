"""Media formats every provider and upload share: image normalising, MP4 and audio work."""
