"""The bot service's web layer: HTTP routes (bot.web.http) and the widget's WebSocket (bot.web.ws)."""
