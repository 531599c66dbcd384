"""v"""

VERSION = "4"
