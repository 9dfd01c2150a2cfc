"""The slide list: a Qt table model that reads every fact from the session (it keeps no copies,
only thumbnails as pictures) and the widget with its filters, sorting and look-ahead order.
"""
