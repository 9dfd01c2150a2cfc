"""The two locked views of a slide: the layered canvas (image, indexed mask layers, contours,
review layers), what they show for the current slide (display), the overlay controls, and the
mask editor's tools.
"""
