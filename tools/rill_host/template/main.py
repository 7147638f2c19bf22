# main.py: runs the app at power-on on a board.
import app

app.main()
