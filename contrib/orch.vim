" Vim syntax file
" Language:    Orchfile (orch(1) migration plans, orchfile(5))
" Maintainer:  the orch project
"
" Install:
"   mkdir -p ~/.vim/syntax ~/.vim/ftdetect
"   cp contrib/orch.vim ~/.vim/syntax/orch.vim
"   echo 'au BufRead,BufNewFile Orchfile,orchfile,*.orchfile setfiletype orch' \
"       >~/.vim/ftdetect/orch.vim
" (Neovim: the same under ~/.config/nvim/.) For a file with another name:
"   :set filetype=orch   or a modeline:  # vim: ft=orch
"
" What it shows: sections ([orch], [vars], [env], [pool NAME], [phase NAME], [step NAME],
" [milestone NAME], [sqitch NAME], [flyway NAME]; any other section is an error), the
" known keys (an unknown key outside [vars] is marked), comments (# or ; at the start
" of a line only: a ; inside a value is part of the value), ${NAME} and
" ${NAME:-default}, durations (45m, 1h30m, 2d, 90s), yes/no, and the values of
" on_change, impact and transaction.

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
setlocal iskeyword=@,48-57,-,_,.

" ---------------------------------------------------------------- comments
" Only at the start of a line (after blanks): inih's rule.
syn match orchComment "^\s*[#;].*$" contains=orchTodo,@Spell
syn keyword orchTodo contained TODO FIXME XXX NOTE

" ---------------------------------------------------------------- sections
syn match orchSection "^\s*\[[^\]]*\]\s*$" contains=orchSectionKind,orchSectionName,orchSectionError
syn match orchSectionError contained "\[\zs[^\]]*\ze\]"
syn match orchSectionKind contained "\[\zs\(orch\|vars\|env\)\ze\]"
syn match orchSectionKind contained "\[\zs\(pool\|phase\|step\|milestone\|sqitch\|flyway\)\ze\s\+[A-Za-z0-9._-]\+\]" nextgroup=orchSectionName skipwhite
syn match orchSectionName contained "\s\zs[A-Za-z0-9._-]\+\ze\]"

" ---------------------------------------------------------------- keys
" A key is a name followed by '='; the known ones of every section are keywords.
syn match orchKeyLine "^\s*[A-Za-z0-9._-]\+\s*=" contains=orchKey,orchUnknownKey,orchEquals nextgroup=orchValue
syn match orchUnknownKey contained "^\s*\zs[A-Za-z0-9._-]\+"
syn match orchKey contained "^\s*\zs\(name\|jobs\|database\|changelog\|report\|target\|share_database\|depth\|number\|title\|after\|phase\|needs\|run\|sql\|sql_verify\|sql_rollback\|transaction\|verify\|rollback\|inputs\|outputs\|estimate\|timeout\|retries\|retry_delay\|pool\|manual\|prompt\|always\|on_change\|env\|type\|component\|impact\|refs\|backup\|backup_schema\|lock_timeout\|statement_timeout\|validate\|allow_skipped\|plan\|dir\|command\|on\)\ze\s*="
syn match orchEquals contained "="

" In [vars] every name is a variable, not an unknown key.
syn region orchVarsSection start="^\s*\[vars\]\s*$" end="^\ze\s*\[" contains=orchSection,orchComment,orchVarDef,orchContinuation
syn match orchVarDef contained "^\s*[A-Za-z_][A-Za-z0-9_]*\ze\s*=" nextgroup=orchEqualsVar skipwhite
syn match orchEqualsVar contained "=" nextgroup=orchValue

" ---------------------------------------------------------------- values
" The rest of a key line and its indented continuation lines are one value.
syn match orchValue contained ".*$" contains=orchVar,orchDuration,orchBoolean,orchWord,orchNumber
syn match orchContinuation "^\s\+[^#; \t].*$" contains=orchVar,orchDuration,orchBoolean,orchWord,orchNumber

syn match orchVar "\${[A-Za-z_][A-Za-z0-9_]*\(:-[^}]*\)\=}" contains=orchVarDefault
syn match orchVarDefault contained ":-\zs[^}]*\ze}"
syn match orchVar "\$\$"
syn match orchDuration contained "\<\(\d\+[dhms]\)\+\>"
syn match orchNumber contained "\<\d\+\>"
syn keyword orchBoolean contained yes no true false on off
syn keyword orchWord contained rerun error ignore low medium high feature fix breaking chore docs test

" ---------------------------------------------------------------- colours
hi def link orchComment      Comment
hi def link orchTodo         Todo
hi def link orchSection      Delimiter
hi def link orchSectionKind  Statement
hi def link orchSectionName  Function
hi def link orchSectionError Error
hi def link orchKey          Keyword
hi def link orchUnknownKey   Error
hi def link orchVarDef       Identifier
hi def link orchEquals       Operator
hi def link orchEqualsVar    Operator
hi def link orchVar          PreProc
hi def link orchVarDefault   String
hi def link orchDuration     Number
hi def link orchNumber       Number
hi def link orchBoolean      Boolean
hi def link orchWord         Constant

let b:current_syntax = "orch"

let &cpo = s:cpo_save
unlet s:cpo_save

" vim: ts=8 sw=2 et
