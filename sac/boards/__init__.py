"""The weekly information board (Rules para 2.3, 68.4; issue 11): a document for a node of the goal map or the
whole SAC, for one ISO week, in one language, kept in the store as it was built.

- :mod:`sac.boards.content` gathers the sections from the domain functions the pages use;
- :mod:`sac.boards.changes` diffs a board's recorded state with the previous board of the node;
- :mod:`sac.boards.pdf` and :mod:`sac.boards.xlsx` render the same sections as an A4 PDF and a workbook;
- :mod:`sac.boards.archive` stores boards immutably (migration 013), lists them, reads them back and audits
  builds and downloads.

Pure domain code: no streamlit here (pages/boards.py is the page, sac/commands/board.py the command).
"""

from sac.boards.archive import (
                                BoardNotFound,
                                board_nodes,
                                build,
                                file_name,
                                find_node,
                                get_board,
                                list_boards,
                                previous_board,
                                record_download,
)
from sac.boards.content import LEADERSHIP, Context

__all__ = ["LEADERSHIP", "BoardNotFound", "Context", "board_nodes", "build", "file_name", "find_node", "get_board",
           "list_boards", "previous_board", "record_download"]
